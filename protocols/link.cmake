# (owned by the link-page work: QR codes, browser identity, the link page)
# The page's files under web/ are compiled in: cmake/EmbedFiles.cmake turns
# them into a header in the build tree whenever one of them changes.
find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs objdetect)

set(paysync_web_files
  ${PROJECT_SOURCE_DIR}/web/pay.html
  ${PROJECT_SOURCE_DIR}/web/pay.css
  ${PROJECT_SOURCE_DIR}/web/pay.js
  ${PROJECT_SOURCE_DIR}/web/icon.svg)
set(paysync_web_header ${CMAKE_CURRENT_BINARY_DIR}/generated/paysync/web_assets.hpp)
string(REPLACE ";" "|" paysync_web_file_arg "${paysync_web_files}")
add_custom_command(
  OUTPUT ${paysync_web_header}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${paysync_web_header}
          -DNAMESPACE=paysync::protocols::web -DFILES=${paysync_web_file_arg}
          -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
  DEPENDS ${paysync_web_files} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
  COMMENT "Embedding web/ into the paysync binary"
  VERBATIM)

target_sources(paysync_protocols PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/qr_code.cpp
  ${CMAKE_CURRENT_LIST_DIR}/handset_identity.cpp
  ${CMAKE_CURRENT_LIST_DIR}/link_page.cpp
  ${paysync_web_header})
target_include_directories(paysync_protocols PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
# OpenCV's headers warn under C++20 (-Wdeprecated-enum-enum-conversion): system headers.
target_include_directories(paysync_protocols SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(paysync_protocols PRIVATE opencv_core opencv_imgproc opencv_imgcodecs
                                                opencv_objdetect)
